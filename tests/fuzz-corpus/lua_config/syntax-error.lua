settings {
    logfile = "/var/log/lsyncd.log",
}

sync {
    default.rsync,
    source = "/srv/data"
    target = "/srv/mirror",
}
