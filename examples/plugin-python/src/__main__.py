# The entry point of the packaged plugin (python3 -m zipapp; see the Makefile).
import hello

hello.main()
