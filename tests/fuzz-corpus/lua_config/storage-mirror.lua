-- /etc/lsyncd/lsyncd.conf.lua, deployed by the lsyncd playbook:
-- mirror the primary LUKS volume onto the secondary one, in near real time.
settings {
    logfile        = "/var/log/lsyncd/lsyncd.log",
    statusFile     = "/var/log/lsyncd/lsyncd.status",
    statusInterval = 10,
    nodaemon       = false,
    insist         = true,
    maxProcesses   = 1,
}

sync {
    default.rsync,
    source = "/mnt/storage_do_1/",
    target = "/mnt/storage_do_2/",
    delay  = 1,
    delete = true,
    rsync  = {
        archive    = true,
        compress   = false,
        whole_file = true,
        _extra     = {
            "--delete-after",
            "--inplace",
            "--no-perms",
            "--omit-dir-times",
        },
    },
}
