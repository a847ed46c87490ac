# The two commands of the README. Both run as root on Debian 12 with a Rust toolchain.
#   make install   build the .deb with cargo-deb and install it with apt (dependencies resolve)
#   make check     install test dependencies, then run every test layer (tests/run-all.sh)

.PHONY: install deb check
SHELL := /bin/bash

deb:
	command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
	cargo deb --locked

# cargo deb prints the path of the .deb it built as its last line.
install:
	command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
	deb=$$(cargo deb --locked | tail -n 1) && apt-get install -y "$$deb"

check:
	tests/run-all.sh
