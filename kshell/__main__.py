from kshell.cli import run

run()
