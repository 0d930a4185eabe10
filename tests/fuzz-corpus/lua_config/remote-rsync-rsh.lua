-- /etc/lsyncd.conf on the primary (default.rsync straight to host:/dir).
sync {
    default.rsync,
    source = "/opt/mcp-servers/",
    target = "100.112.54.111:/opt/mcp-servers/",
    rsync = {
        archive = true,
        compress = true,
        rsh = "/usr/bin/ssh -l nexus"
    }
}
