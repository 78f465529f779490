"""The package version; it must equal the C header's GP_VERSION_STRING."""
__version__ = "0.3.0"
