-- lsyncd manual, "Config Layer 4": default.rsyncssh moves and deletes through ssh.
settings {
    logfile = "/var/log/lsyncd.log",
}

sync {
    default.rsyncssh,
    source    = "/srv/www",
    host      = "backup.example.org",
    targetdir = "/srv/www-mirror",
    delete    = "running",
    ssh       = {
        port         = 2222,
        identityFile = "/root/.ssh/mirror_ed25519",
        options      = { StrictHostKeyChecking = "no", User = "mirror" },
    },
}
