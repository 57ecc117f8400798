"""`watcher wait`: exit 0 once every change since TIME is invalidated and Completed.

run.py waits; command.py is the command line around it (arguments.py its options,
light enough for the CLI to import at start-up).
"""
