/**
 * File-system types from `statfs(2)` (`f_type`), for choosing polling on shares where
 * inotify sees nothing that other machines write.
 */
const NETWORK: Record<number, string> = {
  0xff534d42: 'cifs',
  0xfe534d42: 'smb2',
  0x517b: 'smb',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x01021997: '9p',
  0x786f4256: 'vboxsf',
  0x47504653: 'gpfs',
  0x0bd00bd0: 'lustre',
  0x00c36400: 'ceph',
  0x19830326: 'beegfs',
  0x5346414f: 'afs',
  0x6b414653: 'kafs',
  0x73757245: 'coda',
  0x564c: 'ncp',
};

const LOCAL: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlay',
  0x2fc12fc1: 'zfs',
  0x5346544e: 'ntfs',
  0x4d44: 'vfat',
  0x2011bab0: 'exfat',
  0xf15f: 'ecryptfs',
  0x3153464a: 'jfs',
  0x52654973: 'reiserfs',
  0xf2f52010: 'f2fs',
};

/** What a volume is, and whether native events can be trusted on it. */
export interface FsKind {
  /** `cifs`, `nfs`, `ext4`, … or `0x…` when unknown. */
  name: string;
  /** True for network and FUSE file systems: poll there. */
  network: boolean;
}

/** Names a `statfs` type; unknown types count as local (native events, plus the rescan). */
export function fsKind(type: number): FsKind {
  // f_type is a C long; some platforms sign-extend the 32-bit magic numbers.
  const magic = type >>> 0;
  const network = NETWORK[magic];
  if (network) return { name: network, network: true };
  return { name: LOCAL[magic] ?? `0x${magic.toString(16)}`, network: false };
}
