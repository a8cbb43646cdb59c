"""`python -m bench`: the bench's command line, bench/run.py."""

from bench.run import main

main()
