# scripts/lib/checks.sh — the pass/fail counting shared by the shell test scripts (sourced).
#   ok WHAT / bad WHAT       print "ok   WHAT" or "FAIL WHAT" and count it
#   check WHAT CMD ARGS...   ok or bad by CMD's exit status
#   summary                  prints "N passed, N failed"; returns non-zero if any check failed
pass=0
fail=0
ok() { printf 'ok   %s\n' "$1"; pass=$((pass + 1)); }
bad() { printf 'FAIL %s\n' "$1"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
summary() {
  printf '%s passed, %s failed\n' "$pass" "$fail"
  [[ $fail -eq 0 ]]
}
