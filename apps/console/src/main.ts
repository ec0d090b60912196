import { runService } from '@sepal/http';
import { startConsoleApp } from './bootstrap';

void runService('console', () => startConsoleApp());
