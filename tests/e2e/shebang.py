#!/usr/bin/python3 -S
# Run directly: the loader reads the #! line and starts python3 with -S.
import sys
print("shebang:", sys.argv[1:], "no site:", "site" not in sys.modules)
