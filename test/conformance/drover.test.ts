/** The conformance suite against Drover's standalone server. */
import { describe } from 'vitest';
import { conformanceSuite } from './coordination.suite.ts';
import { startDrover } from '../helpers/drover-target.ts';

describe('conformance on Drover', () => conformanceSuite(startDrover));
