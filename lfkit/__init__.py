"""lfkit: find low-feature audio signatures (narrowband tones in noise).

The library never prints, parses ``sys.argv`` or imports the command-line
shell; torch and scikit-learn are imported only by the modules that need them.
"""

__version__ = "0.1.0"

#: Version of the on-disk model format; bumped when old files cannot be read.
MODEL_FORMAT_VERSION = 2
