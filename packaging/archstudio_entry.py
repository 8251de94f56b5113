"""Entry point of the frozen bundle: the same `archstudio` command line as the pip install."""
import sys

from studio.entry import main

if __name__ == "__main__":
    sys.exit(main())
