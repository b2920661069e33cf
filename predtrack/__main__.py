from predtrack.cli import main

main()
