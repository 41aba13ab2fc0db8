from nexon.cli import main

main()
