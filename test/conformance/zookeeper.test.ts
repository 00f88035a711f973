/** The conformance suite against Apache ZooKeeper 3.8: proves the tests themselves. */
import { describe } from 'vitest';
import { conformanceSuite } from './coordination.suite.ts';
import { startApacheZk } from '../helpers/apache-zk.ts';

describe('conformance on Apache ZooKeeper 3.8', () => conformanceSuite(startApacheZk));
