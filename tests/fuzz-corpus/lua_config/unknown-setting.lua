settings {
    logfile  = "/var/log/lsyncd.log",
    statusfile = "/var/log/lsyncd.status",
}
sync { default.rsync, source = "/srv/data", target = "/srv/mirror" }
