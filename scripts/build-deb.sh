#!/usr/bin/env bash
# Builds obwatch_VERSION_ARCH.deb with Debian's own tools (dpkg-shlibdeps, dpkg-deb), into .build-pkg/ or $DEB_OUT.
#
# The binary is the release build with the Swift runtime and Foundation linked in (--static-swift-stdlib): it needs
# only Debian's own libraries (glibc, libstdc++, libcurl, libyaml, OpenSSL), and the script refuses a binary that
# still links anything from the Swift toolchain. VERSION is ObwatchVersion.current unless OBWATCH_DEB_VERSION says
# otherwise (package-test.sh builds an older-looking package that way to test upgrades).
#
# Environment: SWIFT, SWIFT_BUILD_FLAGS, RELEASE_FLAGS (as in the Makefile), DEB_OUT, OBWATCH_DEB_VERSION,
# DEB_MAINTAINER.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
swift=${SWIFT:-swift}
read -r -a build_flags <<< "${SWIFT_BUILD_FLAGS:--j 2}"
out=${DEB_OUT:-$repo/.build-pkg}
maintainer=${DEB_MAINTAINER:-obwatch maintainers <obwatch@example.org>}
source_version=$(sed -n 's/.*static let current = "\([^"]*\)".*/\1/p' Sources/ObwatchApp/ObwatchVersion.swift)
version=${OBWATCH_DEB_VERSION:-$source_version}
arch=$(dpkg --print-architecture)
package=obwatch_${version}_${arch}

if [ -z "$version" ]; then
    echo "build-deb: no version in Sources/ObwatchApp/ObwatchVersion.swift" >&2
    exit 1
fi

# 1. The self-contained binary.
# The Makefile's RELEASE_FLAGS: the runtime linked in, and -z now with the toolchain's RELRO (a read-only GOT).
read -r -a release_flags <<< "${RELEASE_FLAGS:--c release --static-swift-stdlib -Xlinker -z -Xlinker now}"
"$swift" build "${build_flags[@]}" "${release_flags[@]}" --product obwatch
binary="$("$swift" build "${release_flags[@]}" --show-bin-path)/obwatch"
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v "$swift")")")")
links=$(ldd "$binary")
if grep -q -e "$toolchain" -e 'libswift' -e 'libFoundation' -e 'libdispatch' -e 'libBlocksRuntime' -e 'libicu' \
    <<< "$links"; then
    echo "build-deb: $binary still links the Swift toolchain's libraries:" >&2
    echo "$links" >&2
    exit 1
fi
if grep -q 'not found' <<< "$links"; then
    echo "build-deb: $binary links a library this machine lacks:" >&2
    echo "$links" >&2
    exit 1
fi

# 2. The tree the package installs, under a clean staging folder. Modes are set explicitly: the builder's umask
# must not leak into the package.
stage="$out/stage/$package"
rm -rf "$stage"
umask 022
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/obwatch" \
    "$stage/usr/share/obwatch/rules/examples" "$stage/usr/share/obwatch/scenarios" \
    "$stage/usr/share/doc/obwatch" "$stage/usr/share/man/man1" \
    "$stage/usr/share/bash-completion/completions" "$stage/usr/share/zsh/vendor-completions" \
    "$stage/usr/share/fish/vendor_completions.d"

# Stripped as dh_strip strips an executable: the symbol table and debug sections go, Swift's metadata sections stay.
install -m 0755 "$binary" "$stage/usr/bin/obwatch"
strip --remove-section=.comment --remove-section=.note "$stage/usr/bin/obwatch"

sed -e 's|/usr/local/bin/obwatch|/usr/bin/obwatch|g' systemd/obwatch.service > "$stage/lib/systemd/system/obwatch.service"
chmod 0644 "$stage/lib/systemd/system/obwatch.service"
install -m 0644 rules/default.yaml "$stage/etc/obwatch/obwatch.yaml"

# `obwatch demo` and `obwatch simulate` find rules/ and scenarios/ in ../share/obwatch beside the binary.
install -m 0644 rules/default.yaml rules/demo.yaml "$stage/usr/share/obwatch/rules/"
install -m 0644 rules/examples/*.yaml "$stage/usr/share/obwatch/rules/examples/"
install -m 0644 scenarios/*.yaml "$stage/usr/share/obwatch/scenarios/"
ln -s ../../obwatch/rules "$stage/usr/share/doc/obwatch/examples"

install -m 0644 packaging/deb/copyright "$stage/usr/share/doc/obwatch/copyright"
gzip -9n < README.md > "$stage/usr/share/doc/obwatch/README.md.gz"
changelog=$(mktemp)
trap 'rm -f "$changelog"' EXIT
if [ "$version" != "$source_version" ]; then
    # A test build numbered apart from the source: its own entry on top, so the changelog names its version.
    printf 'obwatch (%s) bookworm; urgency=medium\n\n  * Test build of obwatch %s, numbered %s.\n\n -- %s  %s\n\n' \
        "$version" "$source_version" "$version" "$maintainer" "$(date -R)" > "$changelog"
fi
sed -e "s|@MAINTAINER@|$maintainer|" packaging/deb/changelog >> "$changelog"
gzip -9n < "$changelog" > "$stage/usr/share/doc/obwatch/changelog.gz"
chmod 0644 "$stage"/usr/share/doc/obwatch/*.gz

# The man page from the binary's own help, and the completion scripts swift-argument-parser writes.
scripts/help-to-man.sh "$stage/usr/bin/obwatch" "$version" | gzip -9n > "$stage/usr/share/man/man1/obwatch.1.gz"
"$stage/usr/bin/obwatch" --generate-completion-script bash | sed '1{/^#!/d}' > "$stage/usr/share/bash-completion/completions/obwatch"
"$stage/usr/bin/obwatch" --generate-completion-script zsh > "$stage/usr/share/zsh/vendor-completions/_obwatch"
"$stage/usr/bin/obwatch" --generate-completion-script fish \
    > "$stage/usr/share/fish/vendor_completions.d/obwatch.fish"
chmod 0644 "$stage/usr/share/man/man1/obwatch.1.gz" "$stage/usr/share/bash-completion/completions/obwatch" \
    "$stage/usr/share/zsh/vendor-completions/_obwatch" "$stage/usr/share/fish/vendor_completions.d/obwatch.fish"

if [ -f packaging/deb/lintian-overrides ]; then
    install -d "$stage/usr/share/lintian/overrides"
    install -m 0644 packaging/deb/lintian-overrides "$stage/usr/share/lintian/overrides/obwatch"
fi

# 3. Depends from the libraries the binary really loads: dpkg-shlibdeps reads the ELF's NEEDED entries and asks
# dpkg which package ships each library and from which version on. It insists on a debian/control, so it runs in
# a scratch folder that has a minimal one.
shlibs_dir=$(mktemp -d)
trap 'rm -f "$changelog"; rm -rf "$shlibs_dir"' EXIT
mkdir -p "$shlibs_dir/debian"
printf 'Source: obwatch\n\nPackage: obwatch\nArchitecture: any\n' > "$shlibs_dir/debian/control"
depends=$(cd "$shlibs_dir" && dpkg-shlibdeps -O "$stage/usr/bin/obwatch" | sed -n 's/^shlibs:Depends=//p')
if [ -z "$depends" ]; then
    echo "build-deb: dpkg-shlibdeps found no dependencies" >&2
    exit 1
fi
# What the unit runs besides obwatch: ExecReload=/bin/kill, which is procps's (not in a minimal Debian).
depends="$depends, procps"

# 4. Control files, checksums, and the package.
install -m 0644 packaging/deb/conffiles "$stage/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$stage/DEBIAN/"
installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$installed_size|" -e "s|@DEPENDS@|$depends|" \
    packaging/deb/control.in > "$stage/DEBIAN/control"
chmod 0644 "$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
    > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out/$package.deb" > /dev/null
echo "$out/$package.deb"
echo "  Depends: $depends"
echo "  binary: $(stat -c %s "$stage/usr/bin/obwatch") bytes stripped ($(stat -c %s "$binary") before)"
