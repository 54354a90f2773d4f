from docrsim.cli import main

main()
