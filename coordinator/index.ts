/** The coordination core's public surface: start a member, read its configuration. */
export { startStandalone, type RunningMember } from './member/standalone-member.ts';
export { startEnsembleMember } from './member/ensemble-member.ts';
export { parseZooCfg, defaultConfig, type MemberConfig } from './config/zoo-cfg.ts';
export { ZkError, ErrorCode } from './protocol/error-codes.ts';
