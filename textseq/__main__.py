from textseq.entry import main

main()
