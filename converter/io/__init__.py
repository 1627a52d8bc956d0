"""Input and output: raw readers, dataset readers and the XPT / Dataset-JSON writers."""
