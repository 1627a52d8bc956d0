"""cdisc-converter: raw clinical-trial exports to CDISC SDTM/ADaM, XPT, Dataset-JSON, define.xml."""

__version__ = "0.1.0"
