sync {
    default.rsync,
    source = "/srv/data",
    target = "/srv/mirror",
    rsync = { archive = true, backup = true, backup_dir = "/srv/old" },
}
