"""``python -m bench.ledger``: see ``bench/ledger/run.py``."""

from bench.ledger.run import main

main()
