----
-- User configuration file for lsyncd, after the manual's "Config Layer 4" page:
-- the default rsync behaviour with a log, a status file and some rsync options.
--
settings {
    logfile        = "/var/log/lsyncd/lsyncd.log",
    statusFile     = "/var/log/lsyncd/lsyncd.status",
    statusInterval = 20,
    nodaemon       = true,
}

sync {
    default.rsync,
    source  = "/home/user/src/",
    target  = "/home/user/dst/",
    delay   = 5,
    exclude = { "*.bak", "/cache/" },
    rsync   = {
        binary   = "/usr/bin/rsync",
        archive  = true,
        compress = true,
    },
}
