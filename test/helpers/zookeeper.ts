export * from '../../scripts/lib/zookeeper.js';
