import { runService } from '@sepal/http';
import { startRegistryApp } from './bootstrap';

void runService('registry', () => startRegistryApp());
