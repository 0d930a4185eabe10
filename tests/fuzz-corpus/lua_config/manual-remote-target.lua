-- lsyncd manual: default.rsync can push to a remote host through rsync's own ssh.
settings {
    logfile    = "/tmp/lsyncd.log",
    statusFile = "/tmp/lsyncd.status",
}

sync {
    default.rsync,
    source = "/var/log/collect",
    target = "logs.example.org:/var/log/collected",
    rsync  = { compress = true },
}
