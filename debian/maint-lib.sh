# clamav-freshen maintainer-script helpers (POSIX sh), installed as
# /usr/share/clamav-freshen/maint-lib.sh and sourced by postinst and prerm (not by postrm:
# on remove and purge this file is already gone when postrm runs).
#
# Every function takes the paths it works on as arguments, never from the environment, so
# the package test can run the very same code against a throw-away Nagios configuration.
#
# The rule for monitor configurations: our objects go live only when the full
# configuration is still valid with them; a monitor is reloaded only when it is running AND
# its configuration is valid (Nagios 4.4 exits on a reload with a bad configuration).

cf_say() {
	echo "clamav-freshen: $*"
}

cf_warn() {
	echo "clamav-freshen: WARNING: $*" >&2
}

# What the messages name: the package, its objects and what they need. Set here, not taken
# from the environment; a package sourcing this file for other objects sets them after.
CF_PKG=clamav-freshen
CF_WHAT="the 'ClamAV signatures' service"
CF_NEEDS="They need host 'localhost', template 'generic-service', 'cfg_dir=/etc/nagios-plugins/config'
  in /etc/nagios4/nagios.cfg, and no other command 'clamav-freshen-check' / 'clamav-freshen-handler' nor
  service 'ClamAV signatures' on localhost."

# cf_running SERVICE: true when the service is running (systemd or SysV init).
cf_running() {
	if [ -d /run/systemd/system ]; then
		systemctl is-active --quiet "$1.service"
	else
		# A policy-rc.d that forbids actions (containers, chroots) answers "not running":
		# right, since then nothing may be reloaded either.
		invoke-rc.d --quiet "$1" status >/dev/null 2>&1
	fi
}

# cf_reload_if_running SERVICE: reload a running service; a failed reload only warns, since
# the package itself is fine.
cf_reload_if_running() {
	cf_name=$1
	cf_running "$cf_name" || return 0
	# Running, so no policy-rc.d question arises: systemctl when systemd is init (it also
	# covers units without an init script), invoke-rc.d otherwise.
	if [ -d /run/systemd/system ]; then
		set -- systemctl reload "$1.service"
	else
		set -- invoke-rc.d "$1" reload
	fi
	if "$@"; then
		cf_say "reloaded $cf_name"
	else
		cf_warn "'$*' failed; the configuration was valid, check the service's log"
	fi
}

# cf_nagios_verify NAGIOS_BIN MAIN_CFG: run the pre-flight check (nagios4 -v). Fails when
# Nagios finds the configuration invalid, and also when it only warns that one of our
# objects duplicates another (Nagios would then silently use just one of the two). The
# lines that explain it are left in $cf_nagios_errors for the message.
cf_nagios_errors=""
cf_nagios_verify() {
	cf_out=$("$1" -v "$2" 2>&1) && cf_rc=0 || cf_rc=$?
	cf_dups=$(printf '%s\n' "$cf_out" | grep -E "Duplicate definition found for (service 'ClamAV signatures' on host 'localhost'|command 'clamav-freshen-)" || true)
	[ "$cf_rc" -eq 0 ] && [ -z "$cf_dups" ] && return 0
	cf_nagios_errors=$(printf '%s\n' "$cf_out" | grep -E -i '^(\*\*\*> )?(error|warning)' | head -n 20)
	[ -n "$cf_nagios_errors" ] || cf_nagios_errors=$(printf '%s\n' "$cf_out" | tail -n 5)
	return 1
}

# cf_nagios_enable NAGIOS_BIN MAIN_CFG SERVICE OBJECT_FILE...
# (postinst configure / abort-remove) Put our object files live if the full configuration
# stays valid with them. Otherwise move them to FILE.disabled (Nagios' cfg_dir reads only
# *.cfg), one at a time in the order given, until it is valid again, and say why. Reload
# only a running monitor with a valid configuration. Returns 0: a monitor problem is a
# warning, not a package failure.
cf_nagios_enable() {
	cf_bin=$1 cf_cfg=$2 cf_svc=$3
	shift 3
	for cf_obj in "$@"; do
		# A .disabled file without a live one: disabled by us on remove or by an earlier
		# failed validation; try again (the admin may have fixed the cause). A file the
		# admin deleted (neither exists) stays deleted, as dpkg does.
		if [ ! -e "$cf_obj" ] && [ -e "$cf_obj.disabled" ]; then
			mv -f "$cf_obj.disabled" "$cf_obj"
		fi
	done
	# No Nagios here (or no main configuration): nothing reads the files.
	if ! [ -x "$cf_bin" ] || ! [ -r "$cf_cfg" ]; then
		return 0
	fi
	if cf_nagios_verify "$cf_bin" "$cf_cfg"; then
		cf_live=""
		for cf_obj in "$@"; do
			if [ -e "$cf_obj" ]; then rm -f "$cf_obj.disabled"; cf_live="$cf_live $cf_obj"; fi
		done
		# Say what is live: an admin with older ClamAV objects sees ours sit beside them.
		if [ -n "$cf_live" ]; then
			cf_say "Nagios objects active:$cf_live ($cf_bin -v $cf_cfg: valid)"
		fi
		cf_reload_if_running "$cf_svc"
		return 0
	fi
	cf_why=$cf_nagios_errors
	cf_off=""
	for cf_obj in "$@"; do
		[ -e "$cf_obj" ] || continue
		mv -f "$cf_obj" "$cf_obj.disabled"
		cf_off="$cf_off $cf_obj"
		if cf_nagios_verify "$cf_bin" "$cf_cfg"; then
			cf_warn "our Nagios objects would make the configuration invalid (or clash
  with yours), so they are DISABLED; your configuration is valid and untouched.
  Disabled (moved to NAME.disabled):$cf_off
  Nagios said:
$(printf '%s\n' "$cf_why" | sed 's/^/    /')
  $CF_NEEDS Once that holds, enable them with
    dpkg-reconfigure $CF_PKG
  (or move each NAME.disabled back to NAME, then: $cf_bin -v $cf_cfg && systemctl reload $cf_svc)"
			cf_reload_if_running "$cf_svc"
			return 0
		fi
	done
	cf_warn "the Nagios configuration $cf_cfg is invalid even without our objects,
  so they stay DISABLED (as NAME.disabled:$cf_off) and $cf_svc was NOT reloaded.
  Nagios said:
$(printf '%s\n' "$cf_nagios_errors" | sed 's/^/    /')
  Fix your configuration, then run: dpkg-reconfigure $CF_PKG"
	return 0
}

# cf_nagios_disable NAGIOS_BIN MAIN_CFG SERVICE OBJECT_FILE
# (prerm remove) Take our object file out of the configuration so no check keeps calling a
# plugin that is about to disappear, unless the admin's own objects refer to ours (the
# configuration would turn invalid): then keep it and say so. Reload only when valid.
cf_nagios_disable() {
	cf_bin=$1 cf_cfg=$2 cf_svc=$3 cf_obj=$4
	[ -e "$cf_obj" ] || return 0
	if ! [ -x "$cf_bin" ] || ! [ -r "$cf_cfg" ]; then
		mv -f "$cf_obj" "$cf_obj.disabled"
		return 0
	fi
	cf_valid_before=no
	if cf_nagios_verify "$cf_bin" "$cf_cfg"; then cf_valid_before=yes; fi
	mv -f "$cf_obj" "$cf_obj.disabled"
	if cf_nagios_verify "$cf_bin" "$cf_cfg"; then
		cf_say "disabled $CF_WHAT ($cf_obj.disabled)"
		cf_reload_if_running "$cf_svc"
	elif [ "$cf_valid_before" = yes ]; then
		mv -f "$cf_obj.disabled" "$cf_obj"
		cf_warn "your Nagios objects refer to the 'ClamAV signatures' service, so $cf_obj
  stays active (its check will fail without the package). Nagios said without it:
$(printf '%s\n' "$cf_nagios_errors" | sed 's/^/    /')"
	else
		cf_warn "the Nagios configuration $cf_cfg is invalid; $cf_svc was NOT reloaded.
  Nagios said:
$(printf '%s\n' "$cf_nagios_errors" | sed 's/^/    /')"
	fi
	return 0
}

# cf_nrpe_syntax_ok FILE: every line is blank, a comment or command[NAME]=/absolute/path...
cf_nrpe_syntax_ok() {
	! grep -v -E '^[[:space:]]*(#.*)?$|^command\[[A-Za-z0-9_.-]+\]=/[^[:space:]]' "$1" >/dev/null
}

# cf_nrpe_enable OBJECT_FILE SERVICE (postinst configure / abort-remove)
# NRPE has no configuration test: check our own file's syntax, and reload only a running
# daemon. NRPE's include_dir reads only *.cfg, like Nagios.
cf_nrpe_enable() {
	cf_obj=$1 cf_svc=$2
	if [ ! -e "$cf_obj" ] && [ -e "$cf_obj.disabled" ]; then
		mv -f "$cf_obj.disabled" "$cf_obj"
	fi
	[ -e "$cf_obj" ] || return 0
	if ! cf_nrpe_syntax_ok "$cf_obj"; then
		mv -f "$cf_obj" "$cf_obj.disabled"
		cf_warn "$cf_obj has lines NRPE would not understand; DISABLED as $cf_obj.disabled.
  Fix it, move it back and reload $cf_svc."
		return 0
	fi
	cf_reload_if_running "$cf_svc"
}

# cf_nrpe_disable OBJECT_FILE SERVICE (prerm remove)
cf_nrpe_disable() {
	[ -e "$1" ] || return 0
	mv -f "$1" "$1.disabled"
	cf_reload_if_running "$2"
}

# cf_sudoers_check LIVE_FILE PARKED_FILE (postinst configure)
# A sudoers drop-in that sudo rejects could lock every admin out of sudo: validate it and
# park it outside /etc/sudoers.d if sudo would not accept it. Returns 1 (postinst fails,
# loudly) while a rejected drop-in stays parked; the admin fixes it there, or deletes it to
# do without, and runs dpkg --configure -a.
cf_sudoers_check() {
	cf_live=$1 cf_parked=$2
	if [ ! -e "$cf_live" ] && [ -e "$cf_parked" ]; then
		# Parked by an earlier run: it goes back only once sudo accepts it.
		# (Called from an `if`, so set -e is off here: every step is checked.)
		if cf_out=$(visudo -c -f "$cf_parked" 2>&1); then
			install -m 0440 -o root -g root "$cf_parked" "$cf_live" || return 1
			rm -f "$cf_parked"
			cf_say "sudoers drop-in now valid, restored as $cf_live"
			return 0
		fi
		cf_sudoers_error "$cf_parked is still rejected by sudo" "$cf_parked"
		return 1
	fi
	if [ ! -e "$cf_live" ]; then
		cf_warn "$cf_live is missing (deleted?): the Nagios event handler and NRPE heal
  cannot run the handler through sudo. Reinstall with:
    apt install --reinstall -o Dpkg::Options::=--force-confmiss clamav-freshen"
		return 0
	fi
	if cf_out=$(visudo -c -f "$cf_live" 2>&1); then
		rm -f "$cf_parked"
		return 0
	fi
	mv -f "$cf_live" "$cf_parked" || rm -f "$cf_live"
	cf_sudoers_error "sudo rejects $cf_live; it was moved to $cf_parked so sudo keeps working" "$cf_parked"
	return 1
}

# cf_sudoers_error WHAT PARKED_FILE: the loud part; visudo's words are in $cf_out.
cf_sudoers_error() {
	echo "clamav-freshen: ERROR: $1:" >&2
	printf '%s\n' "$cf_out" | sed 's/^/    /' >&2
	echo "  The Nagios event handler cannot run until this is fixed (this package needs
  sudo >= 1.9.10). Fix $2 (check: visudo -cf $2), or delete it to do
  without the drop-in, then run: dpkg --configure -a" >&2
}

# cf_stop_repair LOCK SECS (prerm remove)
# A repair still running when the package goes would go on writing its state after purge
# deleted it. Its worker holds an flock on LOCK (root's /run/clamav-freshen/repair.lock,
# which records the holder's pid): ask it to stop with SIGTERM (it kills freshclam and
# starts freshclam's daemon again, as on every path) and wait up to SECS for the lock. Only
# a process named clamav-freshen is signalled; a repair that does not end in time is left
# to finish, and said so.
cf_stop_repair() {
	cf_lock=$1 cf_secs=$2
	if [ ! -f "$cf_lock" ] || [ -L "$cf_lock" ] || ! command -v flock >/dev/null; then
		return 0
	fi
	if flock -n "$cf_lock" true 2>/dev/null; then
		return 0
	fi
	cf_pid=$(head -c 16 "$cf_lock" | tr -cd 0-9)
	if [ -n "$cf_pid" ] && [ "$(cat "/proc/$cf_pid/comm" 2>/dev/null)" = clamav-freshen ]; then
		cf_say "stopping the running repair (pid $cf_pid); freshclam's daemon is started again"
		kill -TERM "$cf_pid" 2>/dev/null || true
	fi
	if ! flock -w "$cf_secs" "$cf_lock" true 2>/dev/null; then
		cf_warn "a repair still runs after ${cf_secs}s; it is left to finish"
	fi
	return 0
}

# cf_copy SRC DEST: DEST becomes a 0644 copy of SRC at once (never half-written).
cf_copy() {
	install -m 0644 "$1" "$2.new"
	mv -f "$2.new" "$2"
}

# cf_icinga_reasons OUTPUT: the lines of `icinga2 daemon -C` that say why, and the remedy.
cf_icinga_reasons() {
	printf '%s\n' "$1" | grep -E 'critical/|Error:|Location:' | head -n 20 | sed 's/^/    /' >&2
	echo "  Fix it, then run: dpkg-reconfigure $CF_PKG" >&2
}

# Icinga 2 is reloaded once, after all of our steps (commands, then the service): a step
# that leaves a configuration it validated changed asks for it, and
# cf_icinga_reload_if_asked SERVICE reloads it when running.
cf_icinga_reload=""
cf_icinga_reload_if_asked() {
	if [ "$cf_icinga_reload" = yes ]; then
		cf_icinga_reload=""
		cf_reload_if_running "$1"
	fi
	return 0
}

# cf_icinga_enable ICINGA2 MAIN_CONF SOURCE DEST (postinst configure / abort-remove)
# Icinga 2's commands go live as a copy DEST (in the ITL's plugins-contrib.d, loaded by
# every node that includes <plugins-contrib>) of our SOURCE, refreshed on every configure,
# only when `icinga2 daemon -C` accepts MAIN_CONF with it; otherwise DEST is taken away
# again and the reason said. A copy, not a link: DEST must never dangle when the package's
# files are gone. Without icinga2 (or its ITL directory) nothing is done. Returns 0: a
# monitor problem is a warning.
cf_icinga_enable() {
	cf_i2=$1 cf_conf=$2 cf_src=$3 cf_dest=$4
	if [ ! -x "$cf_i2" ] || [ ! -d "${cf_dest%/*}" ]; then
		return 0
	fi
	cf_copy "$cf_src" "$cf_dest"
	if cf_out=$("$cf_i2" daemon -C -c "$cf_conf" 2>&1); then
		cf_say "Icinga 2 commands active: $cf_dest ($cf_i2 daemon -C: valid)"
		cf_icinga_reload=yes
		return 0
	fi
	rm -f "$cf_dest"
	if "$cf_i2" daemon -C -c "$cf_conf" >/dev/null 2>&1; then
		cf_warn "Icinga 2 commands NOT activated: $cf_i2 daemon -C rejects the configuration with them:"
	else
		cf_warn "Icinga 2 commands NOT activated: the configuration is invalid even without them:"
	fi
	cf_icinga_reasons "$cf_out"
	return 0
}

# cf_icinga_disable ICINGA2 MAIN_CONF DEST [KEEPER] (prerm remove). DEST goes when the
# configuration stays valid without it (or icinga2 is gone); when the admin's own objects
# use our commands it stays, and that is said (Icinga 2 must still start; the services turn
# UNKNOWN without the plugin). Both packages of this source bring the same commands: while
# the other one's copy KEEPER is installed, DEST is refreshed from it instead.
cf_icinga_disable() {
	cf_i2=$1 cf_conf=$2 cf_dest=$3 cf_keeper=${4:-}
	[ -f "$cf_dest" ] || return 0
	if [ -n "$cf_keeper" ] && [ -f "$cf_keeper" ]; then
		cf_copy "$cf_keeper" "$cf_dest"
		return 0
	fi
	if [ ! -x "$cf_i2" ]; then
		rm -f "$cf_dest"
		return 0
	fi
	mv -f "$cf_dest" "$cf_dest.off"
	if "$cf_i2" daemon -C -c "$cf_conf" >/dev/null 2>&1; then
		rm -f "$cf_dest.off"
		cf_icinga_reload=yes
	elif mv -f "$cf_dest.off" "$cf_dest" && "$cf_i2" daemon -C -c "$cf_conf" >/dev/null 2>&1; then
		cf_warn "kept $cf_dest: Icinga 2's configuration uses its commands (remove those objects, then delete it)"
	else
		cf_warn "Icinga 2's configuration is invalid with or without $cf_dest; left as it was"
	fi
	return 0
}

# cf_icinga_gone ICINGA2 DEST TOP (postinst triggered: Icinga 2's binary installed,
# upgraded or removed). With icinga2 gone, our copy DEST in its ITL goes too (dpkg does not
# know the copy, and would leave it and its directories behind), then each directory from
# DEST's up to TOP that is empty and that no package owns any more. With icinga2 there,
# nothing (cf_icinga_enable refreshes the copy).
cf_icinga_gone() {
	cf_i2=$1 cf_dest=$2 cf_top=$3
	if [ -x "$cf_i2" ] || [ ! -e "$cf_dest" ]; then
		return 0
	fi
	rm -f "$cf_dest"
	cf_say "Icinga 2 removed: its copy of our commands ($cf_dest) removed too"
	cf_dir=${cf_dest%/*}
	while [ -n "$cf_dir" ] && [ "${cf_dir#"$cf_top"}" != "$cf_dir" ] && [ -d "$cf_dir" ] &&
		[ -z "$(ls -A "$cf_dir")" ] && ! dpkg-query -S "$cf_dir" >/dev/null 2>&1; do
		rmdir "$cf_dir"
		cf_dir=${cf_dir%/*}
	done
	return 0
}

# cf_icinga_service_enable ICINGA2 MAIN_CONF SOURCE DEST (postinst configure /
# abort-remove, after cf_icinga_enable)
# The 'ClamAV signatures' service for the node itself goes live as DEST (in conf.d) only on
# a node whose MAIN_CONF includes conf.d (standalone, or a master: agents and satellites
# set up by `icinga2 node setup` do not), and only when `icinga2 daemon -C` accepts it.
# Otherwise it is parked as DEST.disabled, and the reason said; a parked one is tried again
# on the next configure. An existing DEST is the admin's: never overwritten.
cf_icinga_service_enable() {
	cf_i2=$1 cf_conf=$2 cf_src=$3 cf_dest=$4
	if [ ! -x "$cf_i2" ] || [ ! -d "${cf_dest%/*}" ] || [ ! -r "$cf_conf" ]; then
		return 0
	fi
	if ! cf_icinga_includes "$cf_conf" "${cf_dest%/*}"; then
		if [ ! -e "$cf_dest" ]; then
			cf_say "Icinga 2 service not activated: $cf_conf does not include conf.d (an agent or a satellite). On the master (package clamav-freshen-monitor): /usr/share/doc/clamav-freshen-monitor/examples/icinga2/mail-filters.conf (command_endpoint = host.name)"
		fi
		return 0
	fi
	if [ -e "$cf_dest" ]; then
		: # live already (ours from an earlier configure, or the admin's)
	elif [ -e "$cf_dest.disabled" ]; then
		mv -f "$cf_dest.disabled" "$cf_dest"
	else
		cf_copy "$cf_src" "$cf_dest"
	fi
	if cf_out=$("$cf_i2" daemon -C -c "$cf_conf" 2>&1); then
		cf_say "Icinga 2 service 'ClamAV signatures' active: $cf_dest ($cf_i2 daemon -C: valid)"
		cf_icinga_reload=yes
		return 0
	fi
	mv -f "$cf_dest" "$cf_dest.disabled"
	cf_warn "Icinga 2 service 'ClamAV signatures' DISABLED (moved to $cf_dest.disabled): $cf_i2 daemon -C rejects the configuration with it:"
	cf_icinga_reasons "$cf_out"
	if "$cf_i2" daemon -C -c "$cf_conf" >/dev/null 2>&1; then
		cf_icinga_reload=yes
	fi
	return 0
}

# cf_icinga_service_disable ICINGA2 MAIN_CONF DEST (prerm remove): DEST parked as
# DEST.disabled (postinst configure puts it back); a reload asked for when valid.
cf_icinga_service_disable() {
	[ -e "$3" ] || return 0
	mv -f "$3" "$3.disabled"
	if [ -x "$1" ] && "$1" daemon -C -c "$2" >/dev/null 2>&1; then
		cf_icinga_reload=yes
	fi
	return 0
}

# cf_icinga_includes MAIN_CONF DIR: MAIN_CONF includes DIR (`include_recursive "conf.d"`,
# Debian's, or DIR by its path).
cf_icinga_includes() {
	sed -n 's/^[[:space:]]*include_recursive[[:space:]]*"\([^"]*\)".*/\1/p' "$1" |
		grep -Fxq -e conf.d -e "$2"
}

# cf_icinga_api_enable ICINGA2 MAIN_CONF USER_CONF API_FILE [master] (postinst configure,
# after cf_icinga_service_enable)
# The forced re-check after a repair through Icinga 2's REST API, on a node with the api
# feature enabled: an ApiUser 'clamav-freshen' that may do nothing but reschedule the
# checks of our CheckCommand (USER_CONF, in conf.d, 0640 root:nagios: it holds the
# password), and API_FILE (root's, 0600) with the same password. On a standalone node
# (clamav-freshen: its service live in USER_CONF's directory) API_FILE is the handler's,
# pointing at the node itself; on a master (clamav-freshen-monitor, "master": conf.d
# included) it is the file for the filters, pointing at the master, to be copied to each
# agent and given its host. Made once, only when neither exists (an existing one is the
# admin's or the other package's) and only when `icinga2 daemon -C` accepts the user;
# otherwise the user goes and the reason is said. Without the api feature nothing is done
# and that is said: the command pipe stays the way.
cf_icinga_api_enable() {
	cf_i2=$1 cf_conf=$2 cf_user=$3 cf_api=$4 cf_role=${5:-node}
	if [ ! -x "$cf_i2" ] || [ ! -r "$cf_conf" ] || [ ! -d "${cf_user%/*}" ]; then
		return 0
	fi
	if [ "$cf_role" = master ]; then
		cf_icinga_includes "$cf_conf" "${cf_user%/*}" || return 0
	elif [ ! -e "${cf_user%/*}/clamav-freshen.conf" ]; then
		return 0
	fi
	if [ ! -e "${cf_conf%/*}/features-enabled/api.conf" ]; then
		if [ ! -e "$cf_api" ]; then
			cf_say "Icinga 2 API not enabled: the re-check after a repair goes through the command pipe when that is set up (README). After 'icinga2 api setup': dpkg-reconfigure $CF_PKG"
		fi
		return 0
	fi
	if [ -e "$cf_api" ] || [ -e "$cf_user" ]; then
		return 0
	fi
	cf_pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
	(
		umask 077
		cat >"$cf_user.new" <<EOC
/*
 * $cf_user -- from the $CF_PKG package: the ApiUser clamav-freshen uses to ask for the
 * re-check of the 'ClamAV signatures' service after a repair, and nothing else. Its
 * password is also in $cf_api. Removed with the package.
 */
object ApiUser "clamav-freshen" {
  password = "$cf_pw"
  permissions = [ {
    permission = "actions/reschedule-check"
    filter = {{ service.check_command == "clamav_freshness" }}
  } ]
}
EOC
	)
	chgrp nagios "$cf_user.new" 2>/dev/null && chmod 0640 "$cf_user.new"
	mv -f "$cf_user.new" "$cf_user"
	if ! cf_out=$("$cf_i2" daemon -C -c "$cf_conf" 2>&1); then
		rm -f "$cf_user"
		cf_warn "Icinga 2 ApiUser 'clamav-freshen' NOT made: $cf_i2 daemon -C rejects the configuration with it:"
		cf_icinga_reasons "$cf_out"
		return 0
	fi
	cf_node=$("$cf_i2" variable get NodeName 2>/dev/null) || cf_node=$(hostname -f)
	mkdir -p "${cf_api%/*}"
	(
		umask 077
		if [ "$cf_role" = master ]; then
			cat >"$cf_api.new" <<EOC
# $cf_api -- written by the $CF_PKG package (ApiUser in $cf_user):
# for each mail filter that is an agent of this master, so that its clamav-freshen asks
# this master's API for the re-check after a repair. Copy it to the filter as
# /etc/clamav-freshen/icinga2-api.toml (root's, chmod 0600) and set host there. Removed
# with the package; delete both files and run dpkg-reconfigure $CF_PKG for a new password.
url = "https://$cf_node:5665"          # an address of this master the filters reach
user = "clamav-freshen"
password = "$cf_pw"
ca_file = "/var/lib/icinga2/certs/ca.crt"   # on the filter: the CA it got from this master
server_name = "$cf_node"               # this master's certificate name
#host = "mailfilter1.example.org"      # the filter's Host object name on this master
EOC
		else
			cat >"$cf_api.new" <<EOC
# $cf_api -- written by the $CF_PKG package (ApiUser in $cf_user):
# where clamav-freshen asks Icinga 2 to re-check the service after a repair. Root's, mode
# 0600. Removed with the package; delete both files and run dpkg-reconfigure $CF_PKG to
# make a new password.
url = "https://127.0.0.1:5665"
user = "clamav-freshen"
password = "$cf_pw"
ca_file = "/var/lib/icinga2/certs/ca.crt"
server_name = "$cf_node"
host = "$cf_node"
EOC
		fi
	)
	mv -f "$cf_api.new" "$cf_api"
	if [ "$cf_role" = master ]; then
		cf_say "Icinga 2 ApiUser 'clamav-freshen' made ($cf_user, allowed only actions/reschedule-check): copy $cf_api to each mail filter as /etc/clamav-freshen/icinga2-api.toml (chmod 0600) and set its host, for the re-check after a repair"
	else
		cf_say "Icinga 2 ApiUser 'clamav-freshen' made ($cf_user, allowed only actions/reschedule-check): the re-check after a repair goes through the API ($cf_api)"
	fi
	cf_icinga_reload=yes
	return 0
}

# cf_icinga_api_disable ICINGA2 MAIN_CONF USER_CONF API_FILE (prerm remove): the ApiUser and
# API_FILE go when this package made them (they say so), Icinga reloaded when valid.
cf_icinga_api_disable() {
	if [ -f "$4" ] && grep -q "^# .* written by the $CF_PKG package" "$4"; then
		rm -f "$4"
	fi
	if [ -f "$3" ] && grep -q "^ \* .* from the $CF_PKG package: the ApiUser" "$3"; then
		rm -f "$3"
		if [ -x "$1" ] && "$1" daemon -C -c "$2" >/dev/null 2>&1; then
			cf_icinga_reload=yes
		fi
	fi
	return 0
}
