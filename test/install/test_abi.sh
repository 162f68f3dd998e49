#!/bin/sh
# test_abi.sh: liborchestra.so exports exactly the public API: every symbol is orc_*, and the
# set equals client/liborchestra.symbols; it imports nothing that ends the program. A symbol
# that disappears breaks programs built against an earlier release (an ABI break: bump the
# SONAME); one that appears must be added to the list on purpose (and to a new version node
# of client/liborchestra.map once a release is out). Usage: test_abi.sh LIBRARY SYMBOL_LIST
set -eu
lib=$1
list=$2
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = liborchestra.so.1 ] || { echo "test_abi: SONAME is '$soname'" >&2; exit 1; }
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^ORCHESTRA_' | sort >"$actual"
bad=$(grep -v '^orc_' "$actual" || true)
if [ -n "$bad" ]; then
    echo "test_abi: exported symbols outside the public API:" >&2
    echo "$bad" >&2
    exit 1
fi
if ! diff -u "$list" "$actual"; then
    echo "test_abi: the exported symbols differ from $list (- gone, + new)" >&2
    exit 1
fi
# The library never ends the program: no abort, exit or assert (an allocation failure is
# ORC_RESOURCE_EXHAUSTED from the call that needed it).
ends=$(nm -D --undefined-only "$lib" | awk '{print $2}' | sed 's/@.*//' |
       grep -E '^(abort|exit|_exit|_Exit|quick_exit|__assert_fail|__assert_perror_fail)$' || true)
if [ -n "$ends" ]; then
    echo "test_abi: the library can end the program through:" $ends >&2
    exit 1
fi
echo "test_abi: $(wc -l <"$actual") symbols, all public; nothing that ends the program"
