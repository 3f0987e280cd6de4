# Sourced by the host-side benchmark scripts (sendfile.sh, handshake.sh):
# the other VMs on this host and waiting for them.  $name: the caller's
# name for messages.

# How many qemu VMs run on this host now.
vms() { pgrep -c -x qemu-system-x86 || true; }

host_load() {
	echo "$(nproc) host CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(vms) other VMs"
}

# Wait up to $1 seconds until no other VM runs (they take the CPUs a
# measurement needs).
wait_quiet() {
	waited=0
	while [ "$(vms)" -gt 0 ] && [ "$waited" -lt "$1" ]; do
		[ "$waited" = 0 ] &&
			echo "$name: waiting up to ${1}s for $(vms) other VM(s) to finish" >&2
		sleep 10
		waited=$((waited + 10))
	done
}
