/** The coordination core's public surface: start a member, read its configuration. */
export { startEnsembleMember, startStandalone, type RunningMember } from './member/ensemble-member.ts';
export { parseZooCfg, defaultConfig, DEV_SNAP_SIZE_LIMIT_KB, type MemberConfig } from './config/zoo-cfg.ts';
export { ZkError, ErrorCode } from './protocol/error-codes.ts';
