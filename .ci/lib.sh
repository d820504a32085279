# Shared by .ci/run and .ci/test (sourced, not run).

die() {
    echo "error: $*" >&2
    exit 1
}

if [ "$(id -u)" = 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    SUDO=(die_no_sudo)
fi
die_no_sudo() {
    die "installing needs root: run as root, or install sudo (this was: $*)"
}

apt_updated=""
apt_update() {
    if [ -z "$apt_updated" ]; then
        "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
        apt_updated=1
    fi
}

# apt_install PACKAGE...: installs them from Debian, or stops saying which failed.
apt_install() {
    echo "== apt-get install $*"
    apt_update
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" \
        || die "apt-get install $* failed"
}
