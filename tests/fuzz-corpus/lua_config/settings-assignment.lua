-- lsyncd 2.0 style, refused by lsyncd 2.2 and later
settings = {
    logfile = "/var/log/lsyncd.log",
}
sync { default.rsync, source = "/srv/data", target = "/srv/mirror" }
