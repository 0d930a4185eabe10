-- /etc/lsyncd.conf on the primary: push the MCP server code to the backup box.
settings {
    logfile        = "/var/log/lsyncd/lsyncd.log",
    statusFile     = "/var/log/lsyncd/lsyncd.status",
    statusInterval = 20,
}

sync {
    default.rsyncssh,
    source    = "/opt/mcp-servers/",
    host      = "nexus@100.112.54.111",
    targetdir = "/opt/mcp-servers/",
    delay     = 5,
    exclude   = { "node_modules/", "*.log", ".git/" },
    rsync     = {
        archive  = true,
        compress = true,
        rsh      = "/usr/bin/ssh -p 2222 -i /root/.ssh/id_mirror -o StrictHostKeyChecking=accept-new",
    },
    ssh       = {
        port = 2222,
    },
}
