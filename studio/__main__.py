"""``python -m studio``: the same program as the ``archstudio`` command."""
import sys

from studio.entry import main

sys.exit(main())
