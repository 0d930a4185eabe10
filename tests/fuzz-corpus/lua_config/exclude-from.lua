-- Mirror /srv/data, skipping what /etc/lsyncd/data.exclude lists.
settings {
    logfile = "/var/log/lsyncd.log",
    nodaemon = true,
}

sync {
    default.rsync,
    source      = "/srv/data",
    target      = "/srv/mirror",
    delay       = 1,
    excludeFrom = "/etc/lsyncd/data.exclude",
    rsync       = { archive = true },
}
