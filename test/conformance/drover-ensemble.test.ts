/** The conformance suite against a 3-member Drover ensemble, its clients connected to a follower. */
import { describe } from 'vitest';
import { conformanceSuite } from './coordination.suite.ts';
import { startDroverEnsembleTarget } from '../helpers/drover-ensemble.ts';

describe('conformance on a 3-member Drover ensemble (via a follower)', () => conformanceSuite(startDroverEnsembleTarget));
