import sys

from checkpoint.cli import main

if __name__ == "__main__":  # a study's worker processes import this module again
    sys.exit(main())
