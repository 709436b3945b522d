from verimath.cli import main

main()
