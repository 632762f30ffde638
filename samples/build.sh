#!/usr/bin/env bash
# Build the sample APKs in samples/ from the apktool projects in samples/src/.
#
#   bash samples/build.sh [NAME...]        build samples/NAME.apk (all samples by default)
#   bash samples/build.sh --check [NAME...] rebuild into a temporary directory and report
#                                           which committed APKs differ (exit 1 if any)
#   bash samples/build.sh --new-keys        regenerate BOTH keystores (changes every
#                                           certificate: commit the keys and all APKs)
#
# Needs (Debian): apktool 2.7.0, aapt, zipalign, apksigner, smali, keytool, python3.
# Tests never run this: the built APKs are committed next to this script.
#
# Pipeline for each sample, with pinned flags so that a rebuild gives the same bytes:
#   1. copy src/NAME to build/NAME/project (apktool writes its own build/ into a project);
#      each src/NAME/payload/<path>/ directory whose name has a dot (a smali tree) is
#      assembled with smali (--api 21) into project/<path>: a raw dex, or a zip holding
#      classes.dex when <path> ends in .jar/.zip/.apk (see src/multidex/payload/);
#   2. apktool b -f -p build/framework  (framework = Debian's framework-res.apk, installed
#      into a private frame path so ~/.local/share/apktool does not matter);
#   3. tools/normalize_zip.py: fixed entry order, timestamps and deflate level;
#   4. zipalign -f -p 4;
#   5. apksigner sign (v1+v2+v3, no v4, --min-sdk-version 21) and apksigner verify.
#
# Keys (committed, never regenerated unless --new-keys):
#   keys/test.keystore   PKCS12, alias "apkscan", store and key password "apkscan",
#                        CN=apkscan test                        -> every sample but hostile
#   keys/debug.keystore  PKCS12, alias "androiddebugkey", store and key password "android",
#                        CN=Android Debug, O=Android, C=US      -> hostile (looks like a
#                        debug build signed with the SDK's debug key)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$HERE/src
KEYS=$HERE/keys
WORK=$HERE/build
PY=${PYTHON:-python3}
FRAMEWORK_APK=${FRAMEWORK_APK:-/usr/share/android-framework-res/framework-res.apk}
APKTOOL_VERSION=2.7.0

TEST_KS=$KEYS/test.keystore;  TEST_ALIAS=apkscan;          TEST_PASS=apkscan
DEBUG_KS=$KEYS/debug.keystore; DEBUG_ALIAS=androiddebugkey; DEBUG_PASS=android

die() { echo "build.sh: $*" >&2; exit 1; }

all_samples() { (cd "$SRC" && for d in */; do [ -f "$d/apktool.yml" ] && echo "${d%/}"; done); }

make_keys() {
  rm -f "$TEST_KS" "$DEBUG_KS"
  keytool -genkeypair -keystore "$TEST_KS" -storetype PKCS12 -alias "$TEST_ALIAS" \
    -storepass "$TEST_PASS" -keypass "$TEST_PASS" -keyalg RSA -keysize 2048 \
    -validity 36500 -startdate "2024/01/01 00:00:00" -dname "CN=apkscan test"
  keytool -genkeypair -keystore "$DEBUG_KS" -storetype PKCS12 -alias "$DEBUG_ALIAS" \
    -storepass "$DEBUG_PASS" -keypass "$DEBUG_PASS" -keyalg RSA -keysize 2048 \
    -validity 10950 -startdate "2024/01/01 00:00:00" -dname "CN=Android Debug, O=Android, C=US"
}

check_tools() {
  local t
  for t in apktool zipalign apksigner smali keytool "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t"
  done
  apktool --version | grep -q "^$APKTOOL_VERSION" \
    || echo "build.sh: warning: apktool $(apktool --version) is not $APKTOOL_VERSION; output may differ" >&2
  [ -f "$FRAMEWORK_APK" ] || die "no framework-res.apk at $FRAMEWORK_APK (set FRAMEWORK_APK)"
  [ -f "$TEST_KS" ] && [ -f "$DEBUG_KS" ] || die "keystores missing in $KEYS (use --new-keys)"
}

signing_args() {
  case "$1" in
    hostile) echo "--ks $DEBUG_KS --ks-key-alias $DEBUG_ALIAS --ks-pass pass:$DEBUG_PASS --key-pass pass:$DEBUG_PASS" ;;
    *)       echo "--ks $TEST_KS --ks-key-alias $TEST_ALIAS --ks-pass pass:$TEST_PASS --key-pass pass:$TEST_PASS" ;;
  esac
}

build_payloads() {  # $1 = sample src dir, $2 = project dir, $3 = scratch dir
  local src=$1 project=$2 scratch=$3 dir rel
  [ -d "$src/payload" ] || return 0
  rm -rf "$project/payload"
  while IFS= read -r dir; do
    rel=${dir#"$src/payload/"}
    mkdir -p "$(dirname "$project/$rel")" "$scratch"
    smali a --api 21 -o "$scratch/payload.dex" "$dir"
    case "$rel" in
      *.jar|*.zip|*.apk) "$PY" "$HERE/tools/normalize_zip.py" --jar "$project/$rel" "$scratch/payload.dex=classes.dex" ;;
      *) cp "$scratch/payload.dex" "$project/$rel" ;;
    esac
    rm -f "$scratch/payload.dex"
  done < <(find "$src/payload" -mindepth 1 -type d -name '*.*' -prune | sort)
}

build_one() {  # $1 = name, $2 = output apk
  local name=$1 out=$2 w=$WORK/$1
  rm -rf "$w"; mkdir -p "$w"
  cp -r "$SRC/$name" "$w/project"
  build_payloads "$SRC/$name" "$w/project" "$w/payload"
  apktool b -f -p "$WORK/framework" -o "$w/unsigned.apk" "$w/project" >"$w/apktool.log" 2>&1 \
    || { cat "$w/apktool.log" >&2; die "apktool failed for $name"; }
  "$PY" "$HERE/tools/normalize_zip.py" "$w/unsigned.apk" "$w/normalized.apk"
  zipalign -f -p 4 "$w/normalized.apk" "$w/aligned.apk"
  # shellcheck disable=SC2046
  apksigner sign $(signing_args "$name") --v1-signing-enabled true --v2-signing-enabled true \
    --v3-signing-enabled true --v4-signing-enabled false --min-sdk-version 21 \
    --out "$out" "$w/aligned.apk"
  rm -f "$out.idsig"
  apksigner verify --min-sdk-version 21 "$out" || die "apksigner verify failed for $name"
  printf '%-16s %7d bytes  %s\n' "$name" "$(stat -c %s "$out")" "$out"
}

main() {
  local check=0 names=() name tmp differ=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --check) check=1 ;;
      --new-keys) make_keys; echo "new keystores written; rebuild and commit every APK"; exit 0 ;;
      -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
      -*) die "unknown option $1" ;;
      *) [ -f "$SRC/$1/apktool.yml" ] || die "no sample $1"; names+=("$1") ;;
    esac
    shift
  done
  [ ${#names[@]} -gt 0 ] || mapfile -t names < <(all_samples)
  check_tools
  mkdir -p "$WORK"
  [ -f "$WORK/framework/1.apk" ] || apktool if -p "$WORK/framework" "$FRAMEWORK_APK" >/dev/null
  if [ "$check" = 1 ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    for name in "${names[@]}"; do
      build_one "$name" "$tmp/$name.apk" >/dev/null
      if cmp -s "$tmp/$name.apk" "$HERE/$name.apk"; then
        echo "same    $name.apk"
      else
        echo "DIFFERS $name.apk"; differ=1
      fi
    done
    exit "$differ"
  fi
  for name in "${names[@]}"; do build_one "$name" "$HERE/$name.apk"; done
}

main "$@"
