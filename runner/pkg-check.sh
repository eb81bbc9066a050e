#!/bin/sh
# harness pkg check: one check of a package's life cycle, run as the test of
# a fresh container booted under systemd (docs/pkg.md). `harness pkg` writes
# this script next to the suite it generates and binds it in; each test of
# that suite runs `harness-pkg-check CHECK`.
#
# The packages come from the suite's `install:` repository, which the
# install step only downloads (the fixture apt.conf sets
# APT::Get::Download-Only): this script installs them itself, so it can
# list the tree after the dependencies and before the package (as piuparts
# does) and report dpkg's own messages.
#
# Environment (the suite's `env:`):
#   HARNESS_PKG_INSTALL   what to install: NAME=VERSION or NAME, space-separated
#   HARNESS_PKG_NAMES     the package names of the targets
#   HARNESS_PKG_NEW       upgrade: the new .debs (paths in the container)
#   HARNESS_PKG_IGNORE    more paths the purge comparison ignores
#   HARNESS_PKG_FROM, HARNESS_PKG_TO   distupgrade: the old and the new release
#                         (the new release's packages are an apt repository
#                         at /srv/harness-pkg-next)
#
# Every problem is one line `FAIL: CHECK: what, exactly` on stdout (the
# suite forbids '^FAIL: ' there, so the first becomes the test's failure
# message); the last line is `DONE: CHECK` when the check ran to its end.
# The exit status is 0 unless the script itself could not run.
set -u
check=${1:?usage: harness-pkg-check install|purge|reinstall|files|upgrade|distupgrade}
names=${HARNESS_PKG_NAMES:?}
items=${HARNESS_PKG_INSTALL:?}
S=/run/harness-pkg
mkdir -p "$S" || exit 2
list=/etc/apt/sources.list.d/harness-install.list
nfail=0

notes_only=0
fail() {
        if [ $notes_only -eq 1 ]; then
                echo "note: $check: $*"
                return
        fi
        echo "FAIL: $check: $*"
        nfail=$((nfail + 1))
}
t0=$(cut -d' ' -f1 /proc/uptime)
apt_end=$t0
# Waits until a second has passed since apt's last run ended: a service
# its maintainer scripts started and that dies right after its start has
# failed by then. (The time the checks took since counts.)
settle() {
        w=$(awk -v e="$apt_end" '{ w = e + 1 - $1; printf "%.2f", w > 0 ? w : 0 }' /proc/uptime)
        [ "$w" = 0.00 ] || sleep "$w"
}
step() { echo "== $(awk -v t0="$t0" '{printf "%.1fs", $1 - t0}' /proc/uptime) $*"; }

others_noted=0
names_target() { # LINE: whether it names one of the targets
        for n in $(cat "$S/names"); do
                case $1 in *"$n"*) return 0 ;; esac
        done
        return 1
}

# apt-get against the suite's repository alone, installing for real, with
# dpkg's messages on stdout. Every dpkg error or warning, apt error or
# warning, and failing maintainer script is a failure with its own line.
apt_run() { # WHAT ARGS...
        what=$1
        shift
        step "apt-get $*"
        apt-get -q -y --no-install-recommends -o APT::Get::Download-Only=false \
                -o Dir::Etc::SourceList="$list" -o Dir::Etc::SourceParts=/dev/null \
                -o Dpkg::Use-Pty=false -o Dpkg::Options::=--force-unsafe-io \
                "$@" >"$S/apt.log" 2>&1
        rc=$?
        apt_end=$(cut -d' ' -f1 /proc/uptime)
        sed 's/^/| /' "$S/apt.log"
        found=0
        while IFS= read -r line; do
                [ -n "$line" ] || continue
                # A directory with files of someone else's is kept on remove:
                # whether anything is left is the purge comparison's to say.
                case $line in
                "dpkg: warning: while removing "*", directory '"*"' not empty so not removed")
                        echo "note: $check: apt-get $what: $line"
                        continue
                        ;;
                "dpkg: warning: "*)
                        # The distupgrade upgrades the whole tree: a warning
                        # that names none of the targets is the release's.
                        if [ $others_noted -eq 1 ] && ! names_target "$line"; then
                                echo "note: $check: apt-get $what: $line"
                                continue
                        fi
                        ;;
                esac
                fail "apt-get $what: $line"
                found=1
        done <<EOF
$(grep -E '^(dpkg: (error|warning)|E: |W: )|(subprocess|script) returned error exit status' "$S/apt.log")
EOF
        [ $rc -eq 0 ] || [ $found -eq 1 ] || fail "apt-get $what exited with status $rc"
        return $rc
}

# The dependencies of the targets, without the targets: what apt would
# install with them.
install_deps() {
        # shellcheck disable=SC2086
        deps=$(apt-get -s -q --no-install-recommends -o Dir::Etc::SourceList="$list" \
                -o Dir::Etc::SourceParts=/dev/null install $items 2>/dev/null |
                awk '/^Inst /{print $2}' | grep -vxF -f "$S/names")
        [ -z "$deps" ] && return 0
        # shellcheck disable=SC2086
        apt_run "install (dependencies)" install $deps
}

echo "$names" | tr ' ' '\n' | sed '/^$/d' >"$S/names"

# ---- what the tree holds -------------------------------------------------

# The ignore list, in piuparts' semantics (its Settings.ignored_files and
# ignored_patterns): what apt, dpkg, the boot and the admin legitimately
# change. A line PATH ignores PATH and everything below it; PATH/ only the
# directory itself (dpkg leaves some shared directories behind, piuparts'
# "work around #316521"), its entries are compared; PATH/* everything below
# PATH but not PATH itself. piuparts lists a directory as "PATH/", so its
# patterns "PATH/.*" (/srv, /var/www, ...) are the first form here.
cat >"$S/ignore" <<'EOF'
/dev
/proc
/sys
/run
/tmp
/var/run
/var/lib/dpkg
/var/lib/apt
/var/cache/apt
/var/cache/debconf
/var/cache/ldconfig
/var/cache/man
/var/lib/ucf
/var/lib/update-rc.d
/var/log
/var/lib/harness
/var/lib/harness-apt
/var/lib/systemd/timers
/var/lib/systemd/random-seed
/var/lib/systemd/catalog
/var/lib/systemd/coredump
/var/lib/systemd/deb-systemd-helper-enabled/
/var/lib/systemd/deb-systemd-helper-masked/
/var/lib/systemd/deb-systemd-user-helper-enabled/
/etc/systemd/system/multi-user.target.wants/
/etc/systemd/system/sockets.target.wants/
/etc/systemd/system/timers.target.wants/
/etc/systemd/system/default.target.wants/
/etc/ld.so.cache
/etc/.pwd.lock
/etc/passwd
/etc/passwd-
/etc/group
/etc/group-
/etc/shadow
/etc/shadow-
/etc/gshadow
/etc/gshadow-
/etc/subuid
/etc/subuid-
/etc/subgid
/etc/subgid-
/etc/machine-id
/etc/hosts
/etc/mtab
/etc/aliases
/etc/aliases.db
/etc/mailname
/etc/nologin
/usr/share/info/dir
/usr/share/info/dir.old
/var/crash/
/var/games/
/var/backups
/var/mail
/var/www
/srv
/etc/cron.d/
/etc/apache2/
/etc/lighttpd/
/etc/lighttpd/conf-available/
/etc/modprobe.d/
/etc/network/
/etc/php/
/etc/sgml/
/etc/ssl/
/etc/ssl/certs/
/etc/ssl/private/
/etc/xml/
/var/lib/apache2/
/usr/share/python3/
/usr/share/python3/debpython/
/usr/lib/harness-pkg
/etc/apt/apt.conf.d/00harness-pkg
EOF
set -f
for p in ${HARNESS_PKG_IGNORE:-}; do echo "$p" >>"$S/ignore"; done
set +f

# One line per path: type, mode, owner, and a symlink's target; and into
# FILE.broken the symlinks that lead nowhere (find's %Y is N), from the same
# walk. find prunes what is ignored with everything below it; awk drops
# the entries ignored by themselves.
files() { # FILE
        set -f
        prune=
        while IFS= read -r l; do
                case $l in
                */\*) prune="$prune -path ${l%/\*}/* -o" ;;
                */) ;;
                ?*) prune="$prune -path $l -o" ;;
                esac
        done <"$S/ignore"
        # shellcheck disable=SC2086
        find / -xdev \( $prune -false \) -prune -o -printf '%p\t%y %m %U:%G %l\t%Y\n' 2>/dev/null |
                awk -F '\t' -v ign="$S/ignore" -v broken="$1.broken" '
                BEGIN { while ((getline l < ign) > 0) if (l ~ /.\/$/) self[substr(l, 1, length(l) - 1)] = 1 }
                $1 in self { next }
                { print $1 "\t" $2 }
                $3 == "N" { print $1 > broken }' | LC_ALL=C sort >"$1"
        LC_ALL=C sort -o "$1.broken" "$1.broken" 2>/dev/null || : >"$1.broken"
        set +f
}

# Processes of the container, but the test's own: PID, user, unit, program.
procs() {
        for d in /proc/[0-9]*; do
                pid=${d#/proc/}
                exe=$(readlink "$d/exe" 2>/dev/null) || continue
                cg=$(sed -n 's/^0::\(.*\)$/\1/p' "$d/cgroup" 2>/dev/null)
                case $cg in */harness-test.service* | */init.scope) continue ;; esac
                unit=${cg##*/}
                user=$(stat -c %U "$d" 2>/dev/null)
                echo "$pid $user $unit $exe"
        done
}

snapshot() { # DIR
        step "listing the tree into $1"
        mkdir -p "$1"
        files "$1/files"
        step "listing alternatives, diversions, units, users"
        update-alternatives --get-selections 2>/dev/null | LC_ALL=C sort >"$1/alternatives"
        dpkg-divert --list 2>/dev/null | LC_ALL=C sort >"$1/diversions"
        cut -d: -f1 /etc/passwd | LC_ALL=C sort >"$1/users"
        cut -d: -f1 /etc/group | LC_ALL=C sort >"$1/groups"
}

# Only the users, for the checks that do not compare the tree.
users_before() {
        mkdir -p "$S/before"
        cut -d: -f1 /etc/passwd | LC_ALL=C sort >"$S/before/users"
}

# What the targets own and run, recorded while they are installed.
record_package() {
        # shellcheck disable=SC2046
        dpkg -L $(cat "$S/names") 2>/dev/null | LC_ALL=C sort -u >"$S/owned"
        grep -E '^/(usr/)?lib/systemd/system/[^/@]+\.(service|socket|timer|path)$' "$S/owned" |
                sed 's,.*/,,' | sort -u >"$S/pkg-units"
        cut -d: -f1 /etc/passwd | LC_ALL=C sort | comm -13 "$S/before/users" - >"$S/pkg-users"
}

# The targets' processes: their programs, their units, their new users.
pkg_procs() {
        procs | while read -r pid user unit exe; do
                path=${exe% (deleted)}
                if grep -qxF "$path" "$S/owned" || grep -qxF "$unit" "$S/pkg-units" ||
                        grep -qxF "$user" "$S/pkg-users" || [ "$path" != "$exe" ] ||
                        [ "$user" = UNKNOWN ]; then
                        echo "pid $pid ($exe, user $user, unit $unit)"
                fi
        done
}

# After a remove or purge: no process of the targets runs, and no unit of
# theirs is still loaded and active (their unit files are compared with
# the rest of the tree).
check_gone() { # WHEN
        step "processes and units after $1"
        pkg_procs >"$S/left"
        while IFS= read -r p; do
                fail "process still running after $1: $p"
        done <"$S/left"
        [ -s "$S/pkg-units" ] || return 0
        # shellcheck disable=SC2046
        systemctl show -p Id -p ActiveState $(cat "$S/pkg-units") 2>/dev/null |
                awk -F= '/^ActiveState=/{s=$2} /^Id=/{id=$2} /^$/{if (s != "inactive" && s != "failed" && id != "") print id, s; s=""; id=""}
                        END{if (s != "inactive" && s != "failed" && s != "" && id != "") print id, s}' >"$S/left-units"
        while IFS= read -r u; do
                fail "unit still active after $1: $u"
        done <"$S/left-units"
}

# Compares the tree after the purge with before the install.
compare() { # BEFORE AFTER
        LC_ALL=C join -t '	' -v 2 "$1/files" "$2/files" | while IFS='	' read -r p meta; do
                fail "left after purge: $p ($(kind "$meta"))"
        done
        LC_ALL=C join -t '	' -v 1 "$1/files" "$2/files" | while IFS='	' read -r p meta; do
                fail "gone after purge, though there before the install: $p ($(kind "$meta"))"
        done
        # awk picks the changed ones: a shell loop over every path took
        # most of a second.
        LC_ALL=C join -t '	' "$1/files" "$2/files" | awk -F '	' '$2 != $3' |
                while IFS='	' read -r p m1 m2; do
                        fail "changed by install and purge: $p (was $m1, now $m2)"
                done
        for what in alternatives diversions users groups; do
                comm -13 "$1/$what" "$2/$what" | while IFS= read -r l; do
                        fail "left after purge: $(echo "$what" | sed 's/s$//') $l"
                done
        done
        # A symlink that pointed somewhere before and nowhere now (one left
        # behind is also a leftover above).
        comm -13 "$1/files.broken" "$2/files.broken" | while IFS= read -r l; do
                fail "broken symlink after purge: $l -> $(readlink "$l")"
        done
}

kind() {
        case $1 in
        d*) echo directory ;;
        l*) echo "symlink to ${1#* * * }" ;;
        f*) echo file ;;
        *) echo "type ${1%% *}" ;;
        esac
}

# The targets' units and their states, one a line.
unit_states() {
        [ -s "$S/pkg-units" ] || return 0
        settle
        while IFS= read -r u; do
                echo "$u $(systemctl is-enabled "$u" 2>/dev/null) $(systemctl is-active "$u" 2>/dev/null)"
        done <"$S/pkg-units"
}

# After an install: dpkg's database, the units, the targets' services.
check_installed() {
        step "checking the install"
        # A service that dies right after its start has failed by now.
        [ -s "$S/pkg-units" ] && settle
        dpkg --audit >"$S/audit" 2>&1
        if [ -s "$S/audit" ]; then
                while IFS= read -r l; do fail "dpkg --audit: $l"; done <"$S/audit"
        fi
        for p in $(cat "$S/names"); do
                st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
                [ "$st" = "ii " ] || fail "$p is not installed (dpkg status '$st')"
        done
        systemctl list-units --state=failed --no-legend --plain --no-pager 2>/dev/null |
                awk '{print $1}' | grep -v '^harness' >"$S/failed"
        while IFS= read -r u; do
                [ -n "$u" ] || continue
                # The unit's own last lines first (they say why), then
                # systemd's about it: the failure message keeps the start.
                journalctl _SYSTEMD_UNIT="$u" -n 3 --no-pager -o cat >"$S/own" 2>/dev/null
                j=$({
                        cat "$S/own"
                        journalctl -u "$u" -n 5 --no-pager -o cat 2>/dev/null | grep -vxF -f "$S/own"
                } | tr '\n' '|' | sed 's/|$//; s/|/ | /g')
                fail "unit $u failed; journal: $j"
        done <"$S/failed"
        while IFS= read -r u; do
                [ "$(systemctl is-enabled "$u" 2>/dev/null)" = enabled ] || continue
                a=$(systemctl is-active "$u" 2>/dev/null)
                [ "$a" = active ] && continue
                cond=$(systemctl show -p ConditionResult --value "$u" 2>/dev/null)
                res=$(systemctl show -p Result --value "$u" 2>/dev/null)
                type=$(systemctl show -p Type --value "$u" 2>/dev/null)
                [ "$cond" = no ] && { step "$u: its condition is not met here"; continue; }
                [ "$type" = oneshot ] && [ "$res" = success ] && continue
                grep -qxF "$u" "$S/failed" && continue # reported above
                fail "enabled unit $u is $a (result $res)"
        done <"$S/pkg-units"
}

done_check() {
        step "done"
        echo "DONE: $check"
        exit 0
}

# shellcheck disable=SC2086
case $check in
install)
        install_deps || done_check
        users_before
        apt_run install install $items || done_check
        record_package
        check_installed
        ;;
purge)
        install_deps || done_check
        snapshot "$S/before"
        apt_run install install $items || done_check
        record_package
        apt_run remove remove $names || done_check
        check_gone remove
        apt_run purge purge $names || done_check
        check_gone purge
        snapshot "$S/after"
        compare "$S/before" "$S/after"
        ;;
reinstall)
        # Only what the second install does differently from the first:
        # the first install is the install check's, the purge the
        # remove-purge check's (a failed purge is noted, not failed here).
        install_deps || done_check
        users_before
        apt_run install install $items || done_check
        record_package
        unit_states >"$S/units-first"
        notes_only=1
        apt_run purge purge $names ||
                step "the purge failed (the remove-purge check reports it); going on"
        notes_only=0
        apt_run "install (again)" install $items || done_check
        unit_states >"$S/units-again"
        for p in $(cat "$S/names"); do
                st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
                [ "$st" = "ii " ] || fail "$p is not installed after the second install (dpkg status '$st')"
        done
        diff "$S/units-first" "$S/units-again" | sed -n 's/^> //p' | while IFS= read -r l; do
                fail "after the second install, unlike the first: $l (first: $(grep "^${l%% *} " "$S/units-first"))"
        done
        ;;
files)
        install_deps || done_check
        snapshot "$S/before"
        apt_run install install $items || done_check
        record_package
        snapshot "$S/after"
        # ELF files the targets ship whose libraries the loader cannot find.
        # One perl (perl-base is essential) reads the magic of every file;
        # a head and an od for each of hundreds of files took seconds.
        if command -v perl >/dev/null; then
                perl -ne 'chomp; next if -l $_ || !-f _; open(my $h, "<", $_) or next;
                        read($h, my $m, 4); print "$_\n" if $m eq "\x7fELF"' "$S/owned" >"$S/elf"
        else
                while IFS= read -r f; do
                        [ -f "$f" ] && [ ! -L "$f" ] || continue
                        [ "$(head -c 4 "$f" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] &&
                                echo "$f"
                done <"$S/owned" >"$S/elf"
        fi
        while IFS= read -r f; do
                ldd "$f" 2>/dev/null | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' |
                        while IFS= read -r lib; do
                                fail "missing library: $f needs $lib (not found)"
                        done
        done <"$S/elf"
        # Symlinks the targets ship that point nowhere.
        while IFS= read -r f; do
                [ -L "$f" ] && [ ! -e "$f" ] && fail "broken symlink shipped: $f -> $(readlink "$f")"
        done <"$S/owned"
        # Files the install created outside /etc, /var, /srv and /tmp that
        # no package owns: not in dpkg's lists, not a link of an
        # alternative (the lines before the first empty one of its file),
        # not where a diversion moved a file (/bin, /lib, ... as /usr/...).
        {
                cat /var/lib/dpkg/info/*.list
                for a in /var/lib/dpkg/alternatives/*; do
                        [ -f "$a" ] && awk '/^$/{exit} /^\//' "$a"
                done
                dpkg-divert --list | sed -n 's/^.* to \(.*\) by .*$/\1/p'
        } 2>/dev/null | sed -E 's,^/(bin|sbin|lib|lib32|lib64|libx32)/,/usr/\1/,' |
                LC_ALL=C sort -u >"$S/all-owned"
        LC_ALL=C join -t '	' -v 2 "$S/before/files" "$S/after/files" | cut -f1 |
                grep -Ev '^/(etc|var|srv|tmp|home|root)(/|$)' |
                LC_ALL=C join -v 1 - "$S/all-owned" | while IFS= read -r f; do
                fail "created by the install, owned by no package: $f"
        done
        ;;
upgrade)
        # HARNESS_PKG_INSTALL is the old version here; HARNESS_PKG_NEW the
        # new .debs, bound in as files. Every conffile gets a local change
        # before the upgrade, which must keep it (dpkg's --force-confold,
        # what an admin answering "keep" gets).
        install_deps || done_check
        users_before
        apt_run "install (old version)" install $items || done_check
        old=$(dpkg-query -W -f='${Package} ${Version}\n' $(cat "$S/names") 2>/dev/null)
        step "installed first: $(echo $old)"
        dpkg-query -W -f='${Conffiles}\n' $(cat "$S/names") 2>/dev/null |
                awk '$1 ~ /^\// && $NF != "obsolete" {print $1}' >"$S/conffiles"
        while IFS= read -r c; do
                [ -f "$c" ] && echo "# a local change, kept by upgrades (harness pkg check)" >>"$c"
        done <"$S/conffiles"
        apt_run upgrade install -o Dpkg::Options::=--force-confdef \
                -o Dpkg::Options::=--force-confold ${HARNESS_PKG_NEW:?} || done_check
        new=$(dpkg-query -W -f='${Package} ${Version}\n' $(cat "$S/names") 2>/dev/null)
        step "upgraded to: $(echo $new)"
        [ "$old" != "$new" ] || fail "the upgrade installed the same versions: $(echo $new)"
        while IFS= read -r c; do
                if [ ! -e "$c" ]; then
                        fail "the upgrade removed the modified conffile $c"
                elif ! grep -qx "# a local change, kept by upgrades (harness pkg check)" "$c"; then
                        fail "the upgrade lost the local change to the conffile $c"
                fi
        done <"$S/conffiles"
        record_package
        check_installed
        ;;
distupgrade)
        # piuparts' distupgrade test: the targets installed on the old
        # release (the tree's), then the whole tree upgraded to the new one
        # with apt-get full-upgrade, its sources switched to the new
        # release's packages (a local repository: the test has no network),
        # conffiles kept as an admin answering "keep" would; then every
        # check of the install.
        install_deps || done_check
        users_before
        apt_run "install (on ${HARNESS_PKG_FROM:?})" install $items || done_check
        old=$(dpkg-query -W -f='${Package} ${Version}\n' $(cat "$S/names") 2>/dev/null)
        old_release=$(cat /etc/debian_version)
        step "installed on Debian $old_release: $(echo $old)"
        list=/etc/apt/sources.list.d/harness-next.list
        echo "deb [trusted=yes] file:/srv/harness-pkg-next ./" >"$list"
        apt_run "update (to ${HARNESS_PKG_TO:?})" update || done_check
        others_noted=1
        apt_run "full-upgrade (to $HARNESS_PKG_TO)" full-upgrade \
                -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold || done_check
        others_noted=0
        new=$(dpkg-query -W -f='${Package} ${Version}\n' $(cat "$S/names") 2>/dev/null)
        new_release=$(cat /etc/debian_version)
        step "upgraded to Debian $new_release: $(echo $new)"
        [ "$new_release" != "$old_release" ] ||
                fail "the full-upgrade left the tree at Debian $old_release"
        record_package
        check_installed
        ;;
*)
        echo "harness-pkg-check: unknown check '$check'" >&2
        exit 2
        ;;
esac
done_check
