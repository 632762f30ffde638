from apkscan.cli import main

main()
