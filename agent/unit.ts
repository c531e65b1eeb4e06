/**
 * The agent's systemd unit, for hosts that run Open vSwitch natively: one
 * source for the packaged file (packaging/systemd/, written by npm run schemas)
 * and for the unit `ovn-chassis agent install` writes with a node's own paths.
 */
export const UNIT_NAME = 'ovn-chassis-agent.service';
export const AGENT_EXECUTABLE = '/usr/local/bin/ovn-chassis-agent';
export const DEFAULT_EXEC_START = [AGENT_EXECUTABLE, 'serve', '--config', '/etc/ovn-chassis/chassis.yaml', '--db', 'unix:/run/openvswitch/db.sock', '--state-dir', '/var/lib/ovn-chassis'];
export const DEFAULT_WRITABLE = ['/run/openvswitch', '/etc/openvswitch'];

/** One ExecStart= or path word, as systemd reads it: quoted when it must be, % doubled. */
function word(s: string): string {
  const t = s.replace(/%/g, '%%');
  return /[\s"'\\]/.test(t) ? `"${t.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : t;
}

export function agentUnit(execStart: string[] = DEFAULT_EXEC_START, writable: string[] = DEFAULT_WRITABLE): string {
  return `# ovn-chassis agent for hosts that run Open vSwitch natively (not in containers).
# It keeps this node's chassis configuration applied and answers the controller
# on STATE_DIR/agent.sock. Written by \`npm run schemas\` from agent/unit.ts;
# \`ovn-chassis agent install\` (systemd kind) writes it with the node's own paths.
[Unit]
Description=ovn-chassis agent: keeps this node's OVN chassis configuration applied
After=network.target openvswitch-switch.service ovsdb-server.service
Wants=openvswitch-switch.service

[Service]
Type=simple
ExecStart=${execStart.map(word).join(' ')}
Restart=on-failure
RestartSec=2s
StateDirectory=ovn-chassis
StateDirectoryMode=0700
UMask=0077

# The sandbox systemd offers that still lets it reach the OVSDB socket, the
# Docker socket, system-id.conf and its state dir. V8 compiles code at run time,
# so writable-executable memory stays allowed.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${writable.map(word).join(' ')}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
# V8 protects its code with memory protection keys (pkey_alloc, pkey_mprotect: @pkey),
# which @system-service leaves out: without them the agent is killed at start (SIGSYS),
# as a real systemd node showed. Anything else outside the set fails with EPERM.
SystemCallFilter=@system-service @pkey
SystemCallErrorNumber=EPERM
CapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH
AmbientCapabilities=

[Install]
WantedBy=multi-user.target
`;
}
