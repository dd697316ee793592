from textseq.cli import main

main()
