#!/bin/bash
# Runs shellcheck (warnings and errors) over every shell script in tests/, debian/ and nagios/, and over
# fuzz/run.sh (not the rest of fuzz/: its corpora are arbitrary bytes): files named
# *.sh and files whose first line runs sh or bash (maintainer scripts included). The dialect
# is the shebang's; a file without one is sh under debian/ (maint-lib.sh, read by dash) and
# bash under tests/ (the system layer's t_*.sh, sourced by bash). Sourced files are followed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
command -v shellcheck >/dev/null || { echo "shellcheck not installed (tests/install-deps.sh)" >&2; exit 2; }

sh_files=() bash_files=()
while IFS= read -r -d '' f; do
	first=$(head -n 1 "$f")
	case $first in
	'#!'*bash*) bash_files+=("$f") ;;
	'#!'*/sh | '#!'*/sh\ * | '#!'*dash*) sh_files+=("$f") ;;
	'#!'*) ;; # another language (python, ...)
	*)
		[[ $f == *.sh ]] || continue
		if [[ $f == debian/* ]]; then sh_files+=("$f"); else bash_files+=("$f"); fi
		;;
	esac
done < <(find tests debian fuzz/run.sh nagios -type f -print0 | sort -z)

echo "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${#sh_files[@]} sh, ${#bash_files[@]} bash scripts"
rc=0
((${#sh_files[@]} == 0)) || shellcheck -x -P SCRIPTDIR -S warning -s sh "${sh_files[@]}" || rc=1
((${#bash_files[@]} == 0)) || shellcheck -x -P SCRIPTDIR -S warning -s bash "${bash_files[@]}" || rc=1
((rc == 0)) && echo "shellcheck: no warnings"
exit $rc
