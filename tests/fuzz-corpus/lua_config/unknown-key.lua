sync {
    default.rsync,
    source = "/srv/data",
    target = "/srv/mirror",
    dealy  = 5,
}
