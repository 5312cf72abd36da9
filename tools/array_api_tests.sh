#!/usr/bin/env bash
# Run the official array API conformance suite (data-apis/array-api-tests) on polygrad.array_api.
#
# usage: tools/array_api_tests.sh SUITE_DIR [numpy|strict|torch] [pytest arguments ...]
#
# SUITE_DIR is a checkout of array-api-tests with its array-api/ submodule (the spec's
# signature stubs) in place. Environment: MAX_EXAMPLES (default 20) examples per test;
# ARRAY_API_TESTS_MODULE (default polygrad.array_api; array_api_strict gives the reference
# implementation's baseline with the same flags). Hypothesis's shrink phase is off (see
# tools/array_api_tests_plugin.py; --array-api-shrink turns it on) and so is its deadline.
# Example: tools/array_api_tests.sh /tmp/aat strict --json-report --json-report-file=r.json
set -euo pipefail

suite=${1:?usage: tools/array_api_tests.sh SUITE_DIR [numpy|strict|torch] [pytest args]}
backend=${2:-numpy}
shift $(($# >= 2 ? 2 : 1))
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$suite/array_api_tests" ] || [ ! -d "$suite/array-api/src/array_api_stubs" ]; then
    echo "$suite is not an array-api-tests checkout with its array-api/ submodule" >&2
    exit 2
fi
case $backend in numpy|strict|torch) ;; *) echo "unknown backend: $backend" >&2; exit 2 ;; esac

export ARRAY_API_TESTS_MODULE=${ARRAY_API_TESTS_MODULE:-polygrad.array_api}
export ARRAY_API_TESTS_VERSION=2024.12
export POLYGRAD_BACKEND=$backend OMP_NUM_THREADS=1
export PYTHONPATH="$repo:$repo/tools${PYTHONPATH:+:$PYTHONPATH}"
cd "$suite"
python -c "import polygrad; assert polygrad.get_backend().name == '$backend'"
exec python -m pytest array_api_tests -q -rf -p no:cacheprovider -p array_api_tests_plugin \
    --max-examples "${MAX_EXAMPLES:-20}" --disable-deadline "$@"
